//! Fetching from a real net/http/pprof server (tests/goprog -serve) with a
//! custom path prefix, over plain HTTP on loopback.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::goprog_profiles;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start() -> (Server, String) {
    let dir = goprog_profiles();
    let addr_file =
        std::env::temp_dir().join(format!("gosleuth-serve-{}.addr", std::process::id()));
    let _ = std::fs::remove_file(&addr_file);
    let child = Command::new(dir.join("goprog"))
        .arg("-serve")
        .arg(&addr_file)
        .spawn()
        .expect("start goprog -serve");
    let server = Server(child);
    let t = Instant::now();
    loop {
        if let Ok(a) = std::fs::read_to_string(&addr_file) {
            let _ = std::fs::remove_file(&addr_file);
            return (server, a);
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
    let out = gosleuth_pprof::driver::run(&[
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

    let (url, body) = gosleuth_pprof::fetch::fetch_profile(
        &format!("http://{addr}/custom/debug/pprof/heap"),
        -1,
        -1,
    )
    .expect("heap");
    assert!(url.ends_with("/custom/debug/pprof/heap"));
    let p = gosleuth_pprof::parse(&body).expect("heap profile decodes");
    assert_eq!(
        p.sample_types.last().map(|t| t.ty.as_str()),
        Some("inuse_space")
    );

    // Legacy text straight from the endpoint, symbolized by its # lines.
    let (_, body) = gosleuth_pprof::fetch::fetch_profile(
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
    let e = gosleuth_pprof::fetch::fetch_profile(&format!("{addr}/nope/debug/pprof/heap"), -1, -1)
        .expect_err("404");
    assert!(e.to_string().contains("404"), "{e}");
}
