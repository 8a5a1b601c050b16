//! Fetching from a real net/http/pprof server (tests/goprog -serve) with a
//! custom path prefix, over plain HTTP and over HTTPS (a self-signed
//! certificate made by the server at startup) on loopback: the driver
//! with `gosleuth-fetch` as its fetcher, as the CLI wires it.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::goprog_profiles;

/// The driver with URL sources fetched, as `gosleuth pprof` runs it.
fn run(args: &[String]) -> gosleuth_pprof::Result<gosleuth_pprof::driver::Outcome> {
    gosleuth_pprof::driver::run_with_fetch(args, &mut |src, seconds, timeout| {
        let (url, t) = gosleuth_fetch::adjust_url(src, seconds, timeout)?;
        Some(
            gosleuth_fetch::get(&url, t)
                .map(|body| (url, body))
                .map_err(Into::into),
        )
    })
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start() -> (Server, String) {
    let (s, a, _) = start_mode("-serve");
    (s, a)
}

/// Starts `goprog MODE ADDRFILE`; returns the server, its address and the
/// file its certificate is in (for `-serve-tls`).
fn start_mode(mode: &str) -> (Server, String, PathBuf) {
    let dir = goprog_profiles();
    let addr_file =
        std::env::temp_dir().join(format!("gosleuth-serve{mode}-{}.addr", std::process::id()));
    let cert = PathBuf::from(format!("{}.cert.pem", addr_file.display()));
    let _ = std::fs::remove_file(&addr_file);
    let child = Command::new(dir.join("goprog"))
        .arg(mode)
        .arg(&addr_file)
        .spawn()
        .expect("start goprog -serve");
    let server = Server(child);
    let t = Instant::now();
    loop {
        if let Ok(a) = std::fs::read_to_string(&addr_file) {
            let _ = std::fs::remove_file(&addr_file);
            return (server, a, cert);
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "goprog -serve did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fetch_from_custom_prefix() {
    let (_server, addr) = start();
    // CPU profile for 1 second, URL without scheme, like go tool pprof accepts.
    let out = run(&[
        "-top".into(),
        "-seconds=1".into(),
        format!("{addr}/custom/debug/pprof/profile"),
    ])
    .expect("fetch cpu profile");
    let text = String::from_utf8(out.report).expect("utf8");
    assert!(text.contains("Type: cpu"), "{text}");
    assert!(
        out.warnings.iter().any(|w| w.contains("seconds=1")),
        "{:?}",
        out.warnings
    );

    let (url, body) =
        gosleuth_fetch::fetch_url(&format!("http://{addr}/custom/debug/pprof/heap"), -1, -1)
            .expect("heap");
    assert!(url.ends_with("/custom/debug/pprof/heap"));
    let p = gosleuth_pprof::parse(&body).expect("heap profile decodes");
    assert_eq!(
        p.sample_types.last().map(|t| t.ty.as_str()),
        Some("inuse_space")
    );

    // Legacy text straight from the endpoint, symbolized by its # lines.
    let (_, body) = gosleuth_fetch::fetch_url(
        &format!("{addr}/custom/debug/pprof/goroutine?debug=1"),
        -1,
        -1,
    )
    .expect("text");
    let p = gosleuth_pprof::parse(&body).expect("goroutine debug=1 decodes");
    assert!(
        p.functions.iter().any(|f| f.name.starts_with("main.")),
        "symbolized from # lines"
    );

    // A wrong prefix is a clear error, not a panic.
    let e = gosleuth_fetch::fetch_url(&format!("{addr}/nope/debug/pprof/heap"), -1, -1)
        .expect_err("404");
    assert!(e.to_string().contains("404"), "{e}");
}

#[test]
fn https_insecure_and_untrusted_certificates() {
    let (_server, addr, cert) = start_mode("-serve-tls");
    assert!(cert.exists(), "the server wrote its certificate");
    // https+insecure:// skips verification, like go tool pprof.
    let out = run(&[
        "-top".into(),
        format!("https+insecure://{addr}/custom/debug/pprof/heap"),
    ])
    .expect("https+insecure heap");
    let text = String::from_utf8(out.report).expect("utf8");
    assert!(text.contains("Type: inuse_space"), "{text}");

    // A long capture over TLS: progress is reported while the server
    // profiles, with the duration the URL asked for.
    let mut reports = Vec::new();
    let (_, body) = gosleuth_fetch::fetch_url_with_progress(
        &format!("https+insecure://{addr}/debug/pprof/profile"),
        1,
        -1,
        &mut |p| reports.push(*p),
    )
    .expect("cpu profile over https+insecure");
    let p = gosleuth_pprof::parse(&body).expect("cpu profile decodes");
    assert!(p.sample_types.iter().any(|t| t.ty == "cpu"));
    assert!(reports.len() >= 3, "{reports:?}");
    assert!(
        reports
            .iter()
            .all(|r| r.expected == Some(Duration::from_secs(1)))
    );
    let last = reports.last().expect("a report");
    assert!(last.done && last.bytes as usize == body.len(), "{last:?}");
    assert!(last.elapsed >= Duration::from_millis(900), "{last:?}");

    // Plain https:// checks the certificate against the trusted roots; a
    // self-signed one is refused with advice.
    let e = gosleuth_fetch::fetch_url(&format!("https://{addr}/custom/debug/pprof/heap"), -1, -1)
        .expect_err("self-signed certificate must not be trusted");
    let msg = e.to_string();
    assert!(msg.contains("not trusted"), "{msg}");
    assert!(
        msg.contains("SSL_CERT_FILE") && msg.contains("https+insecure://"),
        "{msg}"
    );

    // Trusting the certificate (SSL_CERT_FILE, read at fetch time like Go
    // does) makes plain https:// work. The environment is only changed
    // in a child process: this test binary, re-run on one helper test.
    let o = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "fetch::helper_fetch_with_env", "--nocapture"])
        .env("SSL_CERT_FILE", &cert)
        .env(
            "GOSLEUTH_FETCH_HELPER_URL",
            format!("https://{addr}/custom/debug/pprof/heap"),
        )
        .output()
        .expect("re-run the test binary");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("helper fetched"),
        "https with SSL_CERT_FILE: {out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs only when `fetch::https_insecure_and_untrusted_certificates`
/// re-runs this binary with `GOSLEUTH_FETCH_HELPER_URL` (and the trust
/// settings under test) in the environment.
#[test]
fn helper_fetch_with_env() {
    let Ok(url) = std::env::var("GOSLEUTH_FETCH_HELPER_URL") else {
        return;
    };
    let (_, body) =
        gosleuth_fetch::fetch_url(&url, -1, -1).unwrap_or_else(|e| panic!("fetching {url}: {e}"));
    gosleuth_pprof::parse(&body).expect("profile decodes");
    println!("helper fetched {} bytes", body.len());
}
