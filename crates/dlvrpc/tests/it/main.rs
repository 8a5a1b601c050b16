//! The Delve interface on a real core: the factory's seed-004 metrics
//! service, hung with 12,000 goroutines piled up behind a consumer that
//! blocked itself.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use gosleuth_dlvrpc::{Server, ServerOptions, Session, TargetInfo};
use gosleuth_testkit as kit;
use serde_json::{Value, json};

mod protocol;
mod repl;
mod session;

/// The installed Go release's metricsdeadlock binary and gcore core.
pub fn evidence() -> (PathBuf, PathBuf) {
    let cores = kit::factory("cores", "installed", &["--case", "metricsdeadlock"]).join("core");
    let bin = kit::factory("build", "installed", &["--binary", "metricsdeadlock"])
        .join("bin")
        .join("metricsdeadlock");
    (bin, cores.join("metricsdeadlock.gcore.core"))
}

/// A new session over the core (its own selection).
pub fn session() -> Session {
    let (bin, core) = evidence();
    let c = gosleuth_runtime::capture_core(&bin, &core, &Default::default())
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", core.display()));
    Session::new(
        c,
        TargetInfo {
            pid: 1234,
            command_line: "metricsdeadlock".into(),
            backend: "core".into(),
            binary: bin,
            build_id: String::new(),
        },
    )
}

/// One session shared by the tests that do not change the selection
/// (leaked: a capture may hold a live process, which only the thread that
/// attached may release, so a session is `Sync` but not `Send`).
pub fn shared() -> &'static Session {
    static S: OnceLock<&'static Session> = OnceLock::new();
    S.get_or_init(own_session)
}

/// A server over [`shared`], running for the rest of the test process.
pub fn shared_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| serve(shared(), patient()))
}

/// Server options for tests: a client that has not sent `SetApiVersion`
/// is closed after a quiet second by default (for `nc`); on a loaded test
/// machine a raw client can pause that long between two calls.
pub fn patient() -> ServerOptions {
    ServerOptions {
        idle_close: std::time::Duration::from_secs(120),
        ..ServerOptions::default()
    }
}

/// Starts a server over a session that lives for the test process.
pub fn serve(s: &'static Session, opts: ServerOptions) -> SocketAddr {
    let server = Server::bind("127.0.0.1:0", opts).expect("bind loopback");
    let addr = server.local_addr();
    std::thread::spawn(move || server.serve(s));
    addr
}

/// A leaked session, for tests that switch goroutines.
pub fn own_session() -> &'static Session {
    Box::leak(Box::new(session()))
}

/// A raw JSON-RPC client.
pub struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
    next_id: u64,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let w = TcpStream::connect(addr).expect("connect");
        w.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let r = BufReader::new(w.try_clone().expect("clone"));
        Client { w, r, next_id: 1 }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("send");
    }

    /// Reads one reply (one line).
    pub fn reply(&mut self) -> Value {
        let mut line = String::new();
        let n = self.r.read_line(&mut line).expect("read reply");
        assert!(n > 0, "connection closed while waiting for a reply");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {line}"))
    }

    /// True when the server closed the connection (reads to EOF).
    pub fn closed(&mut self) -> bool {
        let mut rest = String::new();
        matches!(std::io::Read::read_to_string(&mut self.r, &mut rest), Ok(0))
    }

    /// Calls `RPCServer.{method}` with `arg` and returns the whole reply.
    pub fn call(&mut self, method: &str, arg: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let req = json!({"method": format!("RPCServer.{method}"), "params": [arg], "id": id});
        self.send_raw(req.to_string().as_bytes());
        let reply = self.reply();
        assert_eq!(reply["id"], id, "{reply}");
        reply
    }

    /// Calls and returns the result, failing on an error reply.
    pub fn result(&mut self, method: &str, arg: Value) -> Value {
        let reply = self.call(method, arg);
        assert!(reply["error"].is_null(), "{method} failed: {reply}");
        reply["result"].clone()
    }

    /// Calls and returns the error message, failing on success.
    pub fn error(&mut self, method: &str, arg: Value) -> String {
        let reply = self.call(method, arg);
        assert!(reply["result"].is_null(), "{method} should fail: {reply}");
        reply["error"].as_str().unwrap_or_default().to_string()
    }
}

/// Line of `needle` in the metricsdeadlock sources.
pub fn line_of(needle: &str) -> u32 {
    kit::source_line("metricsdeadlock/metrics.go", needle)
}

/// `metrics.go:LINE` of the send in `CountS`: Delve's user location of the
/// piled-up requests. Delve names the function that owns the pc (the
/// handler `CountS` is inlined into, when it is), at the inlined send's
/// line, so tests match the line.
pub fn counts_at() -> String {
    format!(
        "metrics.go:{}",
        line_of("m.inChannel <- NewCountMetric(key, 1, second)")
    )
}

/// `metrics.go:LINE` of the send in `SetM`: the consumer's user location.
pub fn setm_at() -> String {
    format!(
        "metrics.go:{}",
        line_of("m.inChannel <- NewSetMetric(key, value, second)")
    )
}

/// `file:line` of a JSON `Location`.
pub fn file_line(loc: &Value) -> String {
    format!(
        "{}:{}",
        loc["file"].as_str().unwrap_or_default(),
        loc["line"]
    )
}

/// The values reader is still a stub (its errors say so).
pub fn not_implemented(msg: &str) -> bool {
    msg.contains("not implemented")
}
