//! Seed 001's leak workflow end to end against the live program: fetch
//! `heap` twice from the factory's `leak` program (AddSSH keeping
//! sub-slices of 2 KiB keys alive) while it runs, then `-diff_base` must
//! show the growth in `main.randBytes`, called from `main.main` through
//! `AddSSH`'s caller.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn heap_diff_of_the_live_leak_program_points_at_randbytes() {
    let bin = gosleuth_testkit::binary("installed", "leak");
    let mut child = Command::new(&bin)
        .args(["-addr", "127.0.0.1:0", "-global", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut addr = String::new();
    BufReader::new(stdout)
        .read_line(&mut addr)
        .expect("the program prints its address");
    let base = format!("http://{}/debug/pprof/heap", addr.trim());

    let dir = std::env::temp_dir().join(format!("gosleuth-leak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // ?gc=1 collects first, so the profile shows what is still live.
    let (_, old) =
        gosleuth_fetch::fetch_url(&format!("{base}?gc=1"), 0, 20).expect("fetch heap.old");
    std::thread::sleep(Duration::from_secs(3));
    let (_, new) =
        gosleuth_fetch::fetch_url(&format!("{base}?gc=1"), 0, 20).expect("fetch heap.new");
    drop(running);
    std::fs::write(dir.join("heap.old"), &old).expect("write");
    std::fs::write(dir.join("heap.new"), &new).expect("write");

    let report = super::ours(
        &dir,
        &[
            "-top",
            "-sample_index=inuse_space",
            "-diff_base=heap.old",
            "heap.new",
        ],
    );
    let text = String::from_utf8_lossy(&report);
    let first_row = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .nth(1)
        .unwrap_or("");
    assert!(first_row.contains("main.randBytes"), "{text}");
    assert!(
        !first_row.trim_start().starts_with('-'),
        "growth, not shrinkage: {text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
