//! `gosleuth pprof` and `gosleuth fetch` end to end: the process's own
//! environment (TZ, SSL_CERT_FILE) and terminal decide what they do, so
//! these run the real binary.

#[cfg(feature = "factory")]
use std::path::{Path, PathBuf};
#[cfg(feature = "factory")]
use std::process::{Child, Stdio};
use std::process::{Command, Output};
#[cfg(feature = "factory")]
use std::sync::OnceLock;
#[cfg(feature = "factory")]
use std::time::{Duration, Instant};

use gosleuth_testkit as kit;

fn gosleuth_env(args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gosleuth"));
    cmd.args(args).current_dir(kit::repo_root());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("run gosleuth")
}

#[cfg(feature = "factory")]
fn go_tool_pprof(args: &[&str], tz: Option<&str>) -> Output {
    let mut cmd = Command::new("go");
    cmd.args(["tool", "pprof"]).args(args);
    match tz {
        Some(tz) => cmd.env("TZ", tz),
        None => cmd.env_remove("TZ"),
    };
    cmd.output()
        .expect("run go tool pprof (Go must be installed: it is the oracle)")
}

/// The `Time:` header follows the TZ of the process (unset: the system's
/// /etc/localtime) exactly as go tool pprof's does.
#[cfg(feature = "factory")]
#[test]
fn pprof_report_time_follows_tz() {
    let dir = kit::evidence("installed", &["leak"]).join("pprof");
    let f = dir.join("leak.heap.new.pb.gz");
    let f = f.to_str().expect("utf-8 path");
    for tz in [
        Some("America/New_York"),
        Some("Asia/Kolkata"),
        Some("Europe/Paris"),
        None,
    ] {
        let want = go_tool_pprof(&["-top", f], tz);
        assert!(want.status.success(), "{want:?}");
        let got = gosleuth_env(&["pprof", "-top", f], &[("TZ", tz)]);
        assert!(got.status.success(), "{got:?}");
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "TZ={tz:?}"
        );
    }
}

/// tests/goprog of the pprof crate (a net/http/pprof server), built once.
#[cfg(feature = "factory")]
fn goprog() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = kit::repo_root().join("crates/pprof/tests/goprog/main.go");
        let code = std::fs::read(&src).expect("read goprog source");
        let mut h: u64 = 0xcbf29ce484222325;
        for &b in &code {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
        let dir = std::env::temp_dir().join(format!("gosleuth-cli-goprog-{h:016x}"));
        let bin = dir.join("goprog");
        if bin.exists() {
            return bin;
        }
        let tmp = std::env::temp_dir().join(format!("gosleuth-cli-goprog-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).expect("mkdir");
        std::fs::write(tmp.join("main.go"), &code).expect("write main.go");
        std::fs::write(tmp.join("go.mod"), "module goprog\n\ngo 1.21\n").expect("go.mod");
        let st = Command::new("go")
            .args(["build", "-o", "goprog", "."])
            .current_dir(&tmp)
            .status()
            .expect("go build (Go must be installed)");
        assert!(st.success(), "go build of crates/pprof/tests/goprog failed");
        let _ = std::fs::create_dir_all(&dir);
        std::fs::rename(tmp.join("goprog"), &bin).expect("keep goprog");
        let _ = std::fs::remove_dir_all(&tmp);
        bin
    })
}

#[cfg(feature = "factory")]
struct Server {
    child: Child,
    addr: String,
    cert: PathBuf,
}

#[cfg(feature = "factory")]
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the loopback server (`-serve` or `-serve-tls`).
#[cfg(feature = "factory")]
fn server(mode: &str) -> Server {
    let addr_file = std::env::temp_dir().join(format!(
        "gosleuth-cli{mode}-{}-{:?}.addr",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_file(&addr_file);
    let child = Command::new(goprog())
        .arg(mode)
        .arg(&addr_file)
        .stderr(Stdio::null())
        .spawn()
        .expect("start goprog");
    // Owned by the guard at once: killed and reaped however this ends.
    let mut srv = Server {
        child,
        addr: String::new(),
        cert: PathBuf::from(format!("{}.cert.pem", addr_file.display())),
    };
    let t = Instant::now();
    loop {
        if let Ok(addr) = std::fs::read_to_string(&addr_file) {
            let _ = std::fs::remove_file(&addr_file);
            srv.addr = addr;
            return srv;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "goprog did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// https:// trusts what Go would trust: SSL_CERT_FILE pointing at the
/// server's certificate makes it work, and without it the self-signed
/// certificate is refused with advice; https+insecure:// skips the check.
#[cfg(feature = "factory")]
#[test]
fn fetch_and_pprof_over_https() {
    let srv = server("-serve-tls");
    let cert = srv.cert.to_str().expect("utf-8 path");
    let out = std::env::temp_dir().join(format!("gosleuth-cli-heap-{}.pb.gz", std::process::id()));
    let out_s = out.to_str().expect("utf-8 path");
    let url = format!("https://{}/custom/debug/pprof/heap", srv.addr);

    let o = gosleuth_env(
        &["fetch", &url, "-o", out_s],
        &[("SSL_CERT_FILE", Some(cert))],
    );
    assert!(o.status.success(), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("samples of [alloc_objects"),
        "{o:?}"
    );
    let _ = std::fs::remove_file(&out);

    let o = gosleuth_env(&["fetch", &url, "-o", out_s], &[("SSL_CERT_FILE", None)]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("is not trusted") && err.contains("SSL_CERT_FILE"),
        "{err}"
    );

    let insecure = format!("https+insecure://{}/custom/debug/pprof/heap", srv.addr);
    let o = gosleuth_env(&["pprof", "-top", &insecure], &[("SSL_CERT_FILE", None)]);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Type: inuse_space"));
}

/// Runs `gosleuth ARGS` on a pseudo-terminal (util-linux `script`) and
/// returns what the terminal showed.
#[cfg(feature = "factory")]
fn on_a_terminal(args: &[&str]) -> String {
    let exe = env!("CARGO_BIN_EXE_gosleuth");
    let quoted: Vec<String> = std::iter::once(exe)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let o = Command::new("script")
        .args(["-qefc", &quoted.join(" "), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux) for a pseudo-terminal");
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Long captures (profile?seconds=2) show a bar with elapsed/expected
/// seconds and bytes on a terminal's stderr, and nothing when stderr is a
/// pipe.
#[cfg(feature = "factory")]
#[test]
fn progress_bar_only_on_a_terminal() {
    let srv = server("-serve");
    let out = std::env::temp_dir().join(format!("gosleuth-cli-cpu-{}.pb.gz", std::process::id()));
    let out_s = out.to_str().expect("utf-8 path");
    let url = format!("http://{}/debug/pprof/profile?seconds=2", srv.addr);

    let tty = on_a_terminal(&["fetch", &url, "-o", out_s]);
    assert!(tty.contains("fetching ["), "{tty:?}");
    assert!(tty.contains("/2s"), "{tty:?}");
    assert!(tty.contains("received"), "{tty:?}");
    // Redrawn as the two seconds pass (about ten times a second).
    assert!(tty.matches("fetching [").count() >= 5, "{tty:?}");
    assert!(tty.contains("samples of [samples cpu]"), "{tty:?}");
    assert!(std::fs::metadata(&out).is_ok_and(|m| m.len() > 0));

    let tty = on_a_terminal(&[
        "pprof",
        "-top",
        "-seconds=2",
        &format!("{}/debug/pprof/profile", srv.addr),
    ]);
    assert!(tty.contains("fetching profile ["), "{tty:?}");
    assert!(tty.contains("Type: cpu"), "{tty:?}");

    let piped = gosleuth_env(&["fetch", &url, "-o", out_s], &[]);
    assert!(piped.status.success(), "{piped:?}");
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !err.contains("fetching [") && !err.contains('\r'),
        "{err:?}"
    );
    assert!(err.contains("samples of [samples cpu]"), "{err:?}");
    let _ = std::fs::remove_file(&out);
}

/// `--help` and `-h` print pprof's flags (clap's help listed only the
/// catch-all argument), as `-help` always did.
#[test]
fn pprof_help_lists_the_flags() {
    for flag in ["--help", "-h", "-help"] {
        let o = gosleuth_env(&["pprof", flag], &[]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{flag}: {o:?}");
        for want in [
            "-sample_index",
            "-diff_base",
            "-tagfocus",
            "--max-decompressed",
        ] {
            assert!(out.contains(want), "{flag} lists {want}:\n{out}");
        }
    }
    let o = gosleuth_env(&["help", "pprof"], &[]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("-sample_index"),
        "{o:?}"
    );
}

/// A profile over `--max-decompressed` stops with the limit and the flag
/// named; the flag raises it; a bad size is a usage error.
#[cfg(feature = "factory")]
#[test]
fn pprof_max_decompressed_limits_and_raises() {
    use std::io::Write as _;
    let dir = kit::evidence("installed", &["leak"]).join("pprof");
    let f = dir.join("leak.heap.new.pb.gz");
    let f = f.to_str().expect("utf-8 path");
    let utc = [("TZ", Some("UTC"))];
    let o = gosleuth_env(&["pprof", "--max-decompressed", "1K", "-top", f], &utc);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        err.contains("1KiB") && err.contains("--max-decompressed"),
        "{err}"
    );

    let plain = gosleuth_env(&["pprof", "-top", f], &utc);
    assert!(plain.status.success(), "{plain:?}");
    let raised = gosleuth_env(&["pprof", "-max_decompressed=2GiB", "-top", f], &utc);
    assert!(raised.status.success(), "{raised:?}");
    assert_eq!(raised.stdout, plain.stdout);

    // 3 MiB of well-formed but empty protobuf (an unknown field, over and
    // over), gzipped: read up to the limit, no further.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&[0x80u8, 0x01, 0x00].repeat(1 << 20))
        .expect("gzip");
    let path =
        std::env::temp_dir().join(format!("gosleuth-cli-unknown-{}.pb.gz", std::process::id()));
    std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
    let p = path.to_str().expect("utf-8 path");
    let o = gosleuth_env(&["pprof", "--max-decompressed=2M", "-top", p], &utc);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(err.contains("larger than the limit of 2MiB"), "{err}");
    let _ = std::fs::remove_file(&path);

    let o = gosleuth_env(&["pprof", "--max-decompressed", "lots", "-top", f], &utc);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("invalid value \"lots\" for flag --max-decompressed"),
        "{o:?}"
    );
}
