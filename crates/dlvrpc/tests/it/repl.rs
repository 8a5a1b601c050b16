//! The REPL driven by a script, as from a pipe.

use gosleuth_dlvrpc::Repl;

use crate::session::consumer;
use crate::{counts_at, line_of, not_implemented, own_session, setm_at};

/// Runs `script` and returns (stdout, stderr).
fn run(s: &gosleuth_dlvrpc::Session, script: &str) -> (String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    Repl::new(s)
        .run_lines(script.as_bytes(), &mut out, &mut err)
        .expect("repl runs");
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

#[test]
fn goroutines_stack_and_frames_like_dlv() {
    let s = own_session();
    let gi = consumer(s);
    let id = s.capture().goroutines()[gi].id;
    let setm_line = line_of("m.inChannel <- NewSetMetric(key, value, second)");
    // Delve's user location: the send's line in SetM, named by the
    // function that owns the pc (SetM is inlined).
    let setm_at = setm_at();
    let script = format!(
        "goroutines -with userloc {setm_at}\n\
         goroutine {id}\n\
         stack\n\
         frame 3\n\
         up\n\
         down 1\n\
         list\n\
         goroutine\n\
         exit\n\
         stack\n"
    );
    let (out, err) = run(s, &script);
    assert!(err.is_empty(), "{err}");
    // One goroutine listed, in dlv's layout.
    let listed = format!("Goroutine {id} - User: ");
    let line = out
        .lines()
        .find(|l| l.contains(&listed))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("{setm_at} main.")), "{line}");
    assert!(out.contains("[1 goroutines]"), "{out}");
    assert!(
        out.contains(&format!("Switched from 1 to {id} (thread ")),
        "{out}"
    );
    // The stack, frame by frame.
    assert!(out.contains(" in main.(*Metrics).SetM\n"), "{out}");
    assert!(
        out.contains(&format!("metricsdeadlock/metrics.go:{setm_line}\n")),
        "{out}"
    );
    assert!(
        out.contains(" in main.(*Metrics).startInChannelConsumer\n"),
        "{out}"
    );
    let frame3 = &s.frames(gi)[3];
    assert!(
        out.contains(&format!(
            "Frame 3: {}:{} (PC: {:x})",
            frame3.frame.file,
            frame3.frame.line,
            frame3.frame.pc.unwrap_or(0)
        )),
        "{out}"
    );
    let frame4 = &s.frames(gi)[4];
    assert!(out.contains(&format!(
        "Frame 4: {}:{}",
        frame4.frame.file, frame4.frame.line
    )));
    // Source around the frame, read from the factory's sources.
    assert!(out.contains(&format!("=>{setm_line:>4}:\t")), "{out}");
    assert!(
        out.contains(&format!("Goroutine {id}:\n\tRuntime: ")),
        "{out}"
    );
    assert!(
        out.contains("\tStart: ") && out.contains("startInChannelConsumer (0x"),
        "{out}"
    );
    // Nothing runs after exit.
    assert_eq!(
        out.matches(" in main.(*Metrics).SetM\n").count(),
        1,
        "{out}"
    );
}

#[test]
fn grouped_listings_in_both_spellings() {
    let s = own_session();
    let counts_at = counts_at();
    let (out, err) = run(
        s,
        &format!(
            "goroutines -group userloc\n\
             goroutines --with userloc={}$ --group-by stack\n\
             goroutines -group startloc -with startloc startInChannelConsumer\n",
            counts_at.replace('.', "\\.")
        ),
    );
    assert!(err.is_empty(), "{err}");
    let counts = s
        .list(&gosleuth_dlvrpc::session::Query {
            filters: vec![gosleuth_dlvrpc::filter::Filter::delve(
                gosleuth_dlvrpc::filter::Field::UserLoc,
                false,
                &counts_at,
            )],
            ..Default::default()
        })
        .goroutines
        .len();
    assert!(counts > 1000, "{counts}");
    assert!(out.contains(&format!("\tTotal: {counts}\n")), "{out}");
    assert!(out.contains(&format!("{counts_at} in main.")), "{out}");
    // gosleuth's grouped view: one group of every CountS goroutine.
    assert!(out.contains(&format!("{counts} goroutines")), "{out}");
    assert!(
        out.contains("in main.(*Metrics).startInChannelConsumer\n"),
        "{out}"
    );
}

#[test]
fn variables_registers_and_errors() {
    let s = own_session();
    let gi = consumer(s);
    let id = s.capture().goroutines()[gi].id;
    let frame = s
        .frames(gi)
        .iter()
        .position(|f| f.frame.function == "main.(*Metrics).sendMetricsToOutChannel")
        .expect("frame");
    let script = format!(
        "goroutine {id}\nframe {frame}\nargs\nlocals\nprint m\nregs\nstack -full 2\n\
         nosuchcommand\nframe 999\nprint\nhelp\nhelp stack\nthreads\nfuncs sendMetricsToOutChannel$\n"
    );
    let (out, err) = run(s, &script);
    // Until the values reader lands, variables say why they are missing.
    let failures: Vec<&str> = err.lines().collect();
    let values_missing = failures.iter().any(|l| not_implemented(l));
    if values_missing {
        assert!(
            failures.iter().all(|l| l.starts_with("Command failed: ")),
            "{err}"
        );
    } else {
        assert!(out.contains("m = (*main.Metrics)(0x"), "{out}");
    }
    assert!(
        err.contains("command not available: nosuchcommand"),
        "{err}"
    );
    assert!(err.contains("Invalid frame 999"), "{err}");
    assert!(err.contains("not enough arguments"), "{err}");
    // Registers of an outer frame: what the unwinder knows.
    assert!(
        out.contains("Rip = 0x") && out.contains("Rsp = 0x"),
        "{out}"
    );
    assert!(out.contains("(truncated)"), "{out}");
    assert!(
        out.contains("goroutines") && out.contains("Aliases: bt"),
        "{out}"
    );
    assert!(
        out.contains("Thread ") && out.contains("main.(*Metrics).sendMetricsToOutChannel\n"),
        "{out}"
    );
}

#[test]
fn tab_completion_offers_commands_variables_and_flags() {
    let s = own_session();
    let gi = consumer(s);
    let id = s.capture().goroutines()[gi].id;
    let mut repl = Repl::new(s);
    let (start, c) = repl.complete("gorou");
    assert_eq!(start, 0);
    assert_eq!(c, vec!["goroutine".to_string(), "goroutines".to_string()]);
    let (start, c) = repl.complete("goroutines -gr");
    assert_eq!(start, 11);
    assert_eq!(c, vec!["-group".to_string()]);
    let (_, c) = repl.complete("list sendMetricsTo");
    assert!(
        c.iter()
            .any(|f| f == "main.(*Metrics).sendMetricsToOutChannel"),
        "{c:?}"
    );
    let (_, c) = repl.complete("goroutine ");
    assert!(c.contains(&id.to_string()));
    // Variables of the current frame, when the values reader has them.
    let frame = s
        .frames(gi)
        .iter()
        .position(|f| f.frame.function == "main.(*Metrics).startInChannelConsumer")
        .expect("frame");
    let mut out = Vec::new();
    repl.execute(&format!("goroutine {id}"), &mut out)
        .expect("switch");
    repl.execute(&format!("frame {frame}"), &mut out)
        .expect("frame");
    let (_, c) = repl.complete("print inM");
    if s.locals(
        gosleuth_runtime::values::Scope {
            goroutine: gi,
            frame,
        },
        &Default::default(),
    )
    .is_ok()
    {
        assert_eq!(c, vec!["inMetrics".to_string()]);
    }
    // Multi-byte whitespace does not split a character.
    let _ = repl.complete("print\u{3000}x");
}
